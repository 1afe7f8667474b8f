"""Model families shipped with musegen, installed as the package ``musegen_plugins``.

Each subpackage is one family and registers through the ``musegen.plugins`` entry point
group, exactly as a third-party plugin would; the core never imports these modules.
"""
