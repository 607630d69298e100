"""The baseline of issue 13's load figures: a bare Flask "hello", served by gunicorn exactly as
the platform is (`gunicorn -w 2 benchmarks.hello_wsgi:app`)."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
