"""The web portal: pages for publishers (and, next to them, the triage queue for the marketplace).

Views are thin adapters: they parse a form, build the ``Actor``, call one
service or selector and render a template. No ORM writes here.
"""
