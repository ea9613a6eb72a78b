"""The commands of ``spacekit``, one module per command group, each imported only when
its command runs (``spacekit._cli`` holds the top-level group and its table of them).

``_common`` has what every command shares (opening a store, the options, shell
completion, suggestions); ``_stores``: ``stores``; ``_spaces``: ``spaces`` and
``subspaces``; ``_transfer``: ``export`` and ``import``. ``migrate`` and ``verify``
live in ``spacekit._migrate._cli``, ``sync`` in ``spacekit._sync._cli``, ``emulate``
in ``spacekit._emulate_cli``.
"""
