"""Interop: an independent JSON-RPC 2.0 client library (jsonrpcclient, with websocket-client
for the transport) drives the `callapi_server` example, every reply read by the library's
own parser: each method's Started answer and its notifications up to Ended, string ids,
the errors for bad JSON, an invalid request, an empty batch, an unknown method and a
missing parameter, a notification that gets no answer, and a batch sent as a binary frame.

    python callapi_jsonrpcclient.py ws://127.0.0.1:8100
"""

import json
import sys

import websocket
from jsonrpcclient import Error, Ok, notification, parse, request, request_uuid


def main(url: str) -> None:
    ws = websocket.create_connection(url, timeout=10)

    def send(message, binary=False):
        text = json.dumps(message)
        if binary:
            ws.send_binary(text.encode())
        else:
            ws.send(text)

    def receive():
        return json.loads(ws.recv())

    def run(method, params):
        """A command: its Started answer, then its notifications up to Ended."""
        start = request(method, params=params)
        send(start)
        answer = parse(receive())
        assert isinstance(answer, Ok), answer
        assert answer.id == start["id"], answer
        assert answer.result["event"] == "Started", answer
        cmd_id = answer.result["cmd_id"]
        events = []
        while not events or events[-1] != "Ended":
            n = receive()
            assert n["method"] == method and "id" not in n, n
            assert n["params"]["cmd_id"] == cmd_id, n
            events.append(n["params"]["event"])
        return events

    assert run("CallStart", {"caller": "sip:alice@x", "callee": "sip:bob@x"}) == [
        "CallerAnswered",
        "Transferring",
        "TransferStart",
        "TransferPending",
        "CalleeAnswered",
        "Ended",
    ]
    transfer = ["Transferring", "TransferStart", "TransferPending", "TransferSuccessful", "Ended"]
    blind = {"callid": "c1", "leg": "callee", "destination": "sip:carol@x"}
    assert run("CallBlindTransfer", blind) == transfer
    attended = {"callidA": "c1", "legA": "caller", "callidB": "c2", "legB": "callee"}
    assert run("CallAttendedTransfer", attended) == [
        "Transferring",
        "TransferStart",
        "TransferSuccessful",
        "Ended",
    ]
    for method, first, start, ok in [
        ("CallHold", "CallHolding", "CallHoldStart", "CallHoldSuccessful"),
        ("CallUnhold", "CallUnholding", "CallUnholdStart", "CallUnholdSuccessful"),
    ]:
        assert run(method, {"callid": "c1"}) == [first, start, start, ok, ok, "Ended"]

    # A string id comes back as sent.
    end = request_uuid("CallEnd", params={"callid": "c1", "cmd_id": "end-1"})
    send(end)
    answer = parse(receive())
    assert isinstance(answer, Ok) and answer.id == end["id"], answer
    assert answer.result == {"cmd_id": "end-1", "event": "Started"}, answer
    assert receive()["params"] == {"cmd_id": "end-1", "event": "Ended"}

    # Errors, as JSON-RPC 2.0 names them.
    ws.send('{"jsonrpc": "2.0", "method": ')
    answer = parse(receive())
    assert isinstance(answer, Error) and answer.code == -32700 and answer.id is None, answer
    send({"jsonrpc": "1.0", "method": "Echo", "id": 5})
    answer = parse(receive())
    assert isinstance(answer, Error) and answer.code == -32600, answer
    send([])
    answer = parse(receive())
    assert isinstance(answer, Error) and answer.code == -32600, answer
    send(request("CallFly", params={}))
    answer = parse(receive())
    assert isinstance(answer, Error) and answer.code == -32601, answer
    send(request("CallStart", params={"caller": "sip:alice@x"}))
    answer = parse(receive())
    assert isinstance(answer, Error) and answer.code == -32602, answer
    assert "callee" in answer.message, answer

    # A notification is run but not answered: the next answer is the Echo's.
    send(notification("CallEnd", params={"callid": "c2", "cmd_id": "quiet"}))
    echo = request("Echo", params={"ping": 1})
    send(echo)
    answer = parse(receive())
    assert isinstance(answer, Ok) and answer.id == echo["id"], answer
    replies = [receive(), receive()]
    assert [r["params"]["event"] for r in replies] == ["Reply", "Ended"], replies
    assert replies[0]["params"]["data"] == {"ping": 1}, replies

    # A batch in a binary frame, as some libraries send it: one array of answers.
    batch = [
        request("CallEnd", params={"callid": "c3", "cmd_id": "b1"}),
        request("CallFly"),
    ]
    send(batch, binary=True)
    answers = parse(receive())
    kinds = sorted(type(a).__name__ for a in answers)
    assert kinds == ["Error", "Ok"], answers
    ws.close()
    print("jsonrpcclient against callapi_server: ok")


if __name__ == "__main__":
    main(sys.argv[1])
