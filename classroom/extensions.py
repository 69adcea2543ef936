"""Flask extensions, created unbound and attached in create_app."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
# Storage is chosen in create_app (Redis when REDIS_URL is set).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
