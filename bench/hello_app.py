"""The ceiling for deadline_rush.py: a bare Flask app that answers one route with a few bytes,
served by gunicorn with the same settings as the classroom app."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
