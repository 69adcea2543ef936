"""Business rules, shared by the web views, the JSON API and the CLI.

Each function takes the acting user where access matters and raises a
ServiceError subclass with a message a person can read.
"""
