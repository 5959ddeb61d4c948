"""Administration (Quản trị hệ thống): the Qt-free core of plugins/admin.

``api`` calls the administrators' database functions on the TOTP-verified connection,
``forms`` checks and phrases what the dialogs show, ``export`` writes CSV and XLSX.
"""
