"""The shared outgoing-webhook pieces: Standard Webhooks signatures and how an answer is judged."""

from __future__ import annotations

import pytest

from dikom.lib.safe_http import DeliveryError
from dikom.lib.webhooks import signing, transport

# The worked example of the Standard Webhooks specification (what any receiver library checks).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specifications_example() -> None:
    assert signing.signature(SECRET, MSG_ID, TIMESTAMP, BODY) == EXPECTED
    assert signing.headers(SECRET, MSG_ID, BODY, timestamp=TIMESTAMP) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": EXPECTED,
    }


def test_verify_accepts_one_of_several_and_refuses_a_changed_body() -> None:
    assert signing.verify(SECRET, MSG_ID, TIMESTAMP, BODY, f"v1,b2xk {EXPECTED}")
    assert not signing.verify(SECRET, MSG_ID, TIMESTAMP, BODY + b" ", EXPECTED)
    assert not signing.verify(signing.new_secret(), MSG_ID, TIMESTAMP, BODY, EXPECTED)


@pytest.mark.parametrize(
    ("status", "retry"), [(301, False), (400, False), (404, False), (408, True), (429, True), (500, True), (503, True)]
)
def test_answers_other_than_2xx_fail_and_say_whether_to_retry(status: int, retry: bool) -> None:
    assert transport.classify(204) == 204
    with pytest.raises(DeliveryError) as caught:
        transport.classify(status)
    assert caught.value.retry is retry
    assert caught.value.http_status == status
