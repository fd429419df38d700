"""CORS headers for a request from an origin in ``http.cors_origins``
(app.http.auth finds it allowed; this module loads with the first such
request: a board without CORS origins never holds it)."""


def grant(request, response):
    """Add the CORS headers for ``request``'s allowed Origin."""
    headers = response.headers
    headers['Access-Control-Allow-Origin'] = request.headers['origin']
    headers['Vary'] = 'Origin'
    if request.method == 'OPTIONS':  # a preflight
        headers['Access-Control-Allow-Methods'] = headers.get(
            'Allow', 'GET, POST, PUT, PATCH, DELETE')
        headers['Access-Control-Allow-Headers'] = 'Authorization, Content-Type'
        headers['Access-Control-Max-Age'] = '600'
    return response
