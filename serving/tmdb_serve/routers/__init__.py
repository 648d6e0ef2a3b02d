"""One router per resource; ``tmdb_serve.main`` combines them."""
