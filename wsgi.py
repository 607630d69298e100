"""gunicorn entry point: `gunicorn -w 2 -b 127.0.0.1:8000 wsgi:app`."""
from matchmaker import create_app
from matchmaker.catalog.service import warm_search_cache

app = create_app()

# each worker computes the catalogue's pinyin once at start, not on its first search
with app.app_context():
    warm_search_cache()
