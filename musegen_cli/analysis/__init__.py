"""Musical features of a piece (key, mode, tempo, bars, density, register) and the emotion
rule that turns them into a Russell quadrant.

`analyze_abc(text)` and `analyze_score(score)` return a `PieceFeatures`; the definitions are
in `features`, the bar rules in `bars`, the emotion rule and its constants in `emotion`.
Importing this package does not import music21.
"""

from musegen_cli.analysis.features import PieceFeatures, analyze_abc, analyze_score

__all__ = ["PieceFeatures", "analyze_abc", "analyze_score"]
