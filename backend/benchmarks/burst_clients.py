"""The morning burst's clients, run as their own process: ``python burst_clients.py PLAN.json`` prints one JSON object.

Standard library only, like ``load.py``. The plan (written by ``benchmarks.burst``) names the server's port, the
roll calls (each with its client, its moment in seconds after the start, its path, its teacher's token and its
body) and the readers (paths with tokens, and how many reader threads). Each client thread sends its roll calls at
their moments (or as soon as its previous one is answered, if that is later), each on a new connection as a
teacher's device would; the reader threads read in a closed loop, each on one keep-alive connection, cycling
through the reader paths, until every roll call is answered (and at least ``read_seconds`` after the start, if
the plan says so: with no roll calls, the readers alone).

The output: for each roll call its status, when it was sent (seconds after the start), how late that was against
its moment, and its latency; for each read its name, status and latency; ``wall``: the start to the last roll
call's answer; ``readers_wall``: the start to the last read's answer.
"""

import http.client
import json
import sys
import threading
import time

HOST = "127.0.0.1"


def headers_for(token: str, *, body: bool = False) -> dict:
    headers = {"Host": HOST, "Accept": "application/json", "Authorization": f"Token {token}"}
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def send(connection: http.client.HTTPConnection, method: str, path: str, *, token: str, body=None) -> tuple:
    """(status or the exception's name, latency in seconds, the body's first bytes when not a success)."""
    data = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    try:
        connection.request(method, path, body=data, headers=headers_for(token, body=data is not None))
        response = connection.getresponse()
        text = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        return type(error).__name__, time.perf_counter() - started, ""
    latency = time.perf_counter() - started
    return status, latency, "" if status == 200 else text[:200].decode("utf-8", "replace")


def run(plan: dict) -> dict:
    port, timeout = plan["port"], plan.get("timeout", 60)
    roll_calls = plan["roll_calls"]
    clients = sorted({call["client"] for call in roll_calls})
    results: list[dict | None] = [None] * len(roll_calls)
    reads: list[dict] = []
    lock = threading.Lock()
    done = threading.Event()
    start = threading.Barrier(len(clients) + plan.get("reader_threads", 0) + 1)
    clock = {"start": 0.0}

    def client(number: int) -> None:
        mine = sorted((call["at"], index) for index, call in enumerate(roll_calls) if call["client"] == number)
        start.wait()
        for at, index in mine:
            call = roll_calls[index]
            delay = clock["start"] + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter() - clock["start"]
            connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            status, latency, text = send(connection, "POST", call["path"], token=call["token"], body=call["body"])
            connection.close()
            results[index] = {
                "status": status,
                "sent": sent,
                "late": max(0.0, sent - at),
                "latency": latency,
                "answered": sent + latency,
                **({"error": text} if text else {}),
            }

    def reader(number: int) -> None:
        readers = plan["readers"]
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        count = number
        start.wait()
        while not done.is_set():
            name, path, token = readers[count % len(readers)]
            count += 1
            status, latency, text = send(connection, "GET", path, token=token)
            if not isinstance(status, int):
                connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            with lock:
                reads.append(
                    {
                        "name": name,
                        "status": status,
                        "latency": latency,
                        "answered": time.perf_counter() - clock["start"],
                        **({"error": text} if text else {}),
                    }
                )
        connection.close()

    client_threads = [threading.Thread(target=client, args=(number,)) for number in clients]
    reader_threads = [
        threading.Thread(target=reader, args=(number,)) for number in range(plan.get("reader_threads", 0))
    ]
    for thread in [*client_threads, *reader_threads]:
        thread.start()
    clock["start"] = time.perf_counter()
    start.wait()  # the start is set before any thread passes the barrier
    for thread in client_threads:
        thread.join()
    remaining = clock["start"] + plan.get("read_seconds", 0) - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)
    done.set()
    for thread in reader_threads:
        thread.join()
    answered = [result["answered"] for result in results if result]
    return {
        "roll_calls": results,
        "reads": reads,
        "wall": max(answered, default=0.0),
        "readers_wall": max((read["answered"] for read in reads), default=0.0),
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as plan_file:
        print(json.dumps(run(json.load(plan_file))))
