"""Scanned dossiers (hồ sơ quét), the Qt-free core: formats, store and cache, import naming,
viewer model. The Qt views live in plugins/dossier/views.py (docs/dossiers.md)."""
