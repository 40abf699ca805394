"""Web shell: base templates, navigation, login, dashboard and settings pages."""
