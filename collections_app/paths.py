# A UUID in a URL path; anything else in that place matches no route and is a 404, never a 500.
UUID_PATH = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
