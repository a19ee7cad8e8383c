"""HTML pages the simulator serves instead of JSON (kept apart from the logic)."""

from typing import Final

# v0 theme-default error page as rendered by mygin.ShowErrorPage for NoRoute.
NOT_FOUND_PAGE: Final = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>该页面不存在 - 哪吒监控</title>
<link rel="stylesheet" href="https://unpkg.com/semantic-ui@2.4.0/dist/semantic.min.css">
</head>
<body>
<div class="ui container">
<div class="ui basic segment" style="margin-top: 20vh; text-align: center">
<h2 class="ui header">404 该页面不存在</h2>
<p>该页面内容可能已着陆火星</p>
<a class="ui button" href="/">返回首页</a>
</div>
</div>
</body>
</html>
"""

# What nginx answers when the dashboard behind it is down.
NGINX_502: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
)

# An SSO proxy (Authelia, oauth2-proxy, ...) intercepting the API call.
LOGIN_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main class="login">
<h1>Sign in to continue</h1>
<form method="post" action="/api/firstfactor">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""

# v1 controller/waf/waf.html; "{error}" is replaced by the block reason.
WAF_BLOCK_PAGE: Final = """<!DOCTYPE html>
<html lang="en">

<head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>Blocked</title>
    <style>
        body {
            display: flex;
            justify-content: center;
            align-items: center;
            height: 90vh;
            font-weight: bolder;
            font-family: 'Courier New', Courier, monospace;
        }
        main {
            text-align: center;
        }
        .emoji {
            font-size: 200px;
        }
        p.secondary {
            font-size: 12px;
            color: #888;
        }

        @media (prefers-color-scheme: dark) {
            body {
                background-color: #111;
                color: #007C41
            }
        }
    </style>
</head>

<body>
    <main>
        <div class="emoji">🤡</div>
        <h1>Blocked</h1>
        <p>{error}</p>
        <p class="secondary">nezha WAF</p>
    </main>
</body>

</html>"""

# index.html of the v1 user frontend (a single-page app), served for non-API paths.
V1_INDEX_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Nezha</title>
<script type="module" crossorigin src="/assets/index-Dq3kZ1pX.js"></script>
</head>
<body>
<div id="root"></div>
</body>
</html>
"""
