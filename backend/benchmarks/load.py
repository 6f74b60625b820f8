"""Load generator, run as its own process: ``python load.py --port P --path /x/ --token T --count N --seconds S``
(or ``--cookie "sessionid=..."`` instead of ``--token``: a page asked for as a signed-in browser would, a plain GET
with the session cookie, which needs no CSRF token).

Standard library only. ``concurrency`` threads, each with one keep-alive HTTP connection to 127.0.0.1, share a
budget of ``count`` requests and stop early after ``seconds``. Prints one JSON object: the latencies in seconds
(successful requests), the size of the largest response body in bytes, the error count, and the elapsed wall time.
"""

import argparse
import http.client
import json
import threading
import time

HOST = "127.0.0.1"


def request_headers(*, token: str = "", cookie: str = "") -> dict:
    """A token (the API's way: JSON, or what ``?format=`` asks for) or a session cookie (the pages' way)."""
    if token:
        return {"Authorization": f"Token {token}", "Accept": "application/json, */*;q=0.1", "Host": HOST}
    return {"Cookie": cookie, "Accept": "text/html", "Accept-Encoding": "identity", "Host": HOST}


def run(
    *, port: int, path: str, token: str = "", cookie: str = "", count: int, seconds: float, concurrency: int = 4
) -> dict:
    latencies: list[float] = []
    sizes: list[int] = [0]
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [count]
    deadline = time.monotonic() + seconds
    headers = request_headers(token=token, cookie=cookie)

    def worker() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=60)
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                    sizes.append(len(body))
                else:
                    errors.append(str(status))
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "bytes": max(sizes),
        "errors": errors[:5],
        "error_count": len(errors),
        "wall": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    signed_in = parser.add_mutually_exclusive_group(required=True)
    signed_in.add_argument("--token")
    signed_in.add_argument("--cookie")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    result = run(
        port=args.port,
        path=args.path,
        token=args.token or "",
        cookie=args.cookie or "",
        count=args.count,
        seconds=args.seconds,
        concurrency=args.concurrency,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
