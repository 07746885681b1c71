"""Backend wrappers on their own: retry, concurrency cap, load balancing, fault injection.

They wrap any backend; here the wrapped one is the scripted backend, so each
test shows one wrapper's behaviour with nothing else in the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from debate.agents.backends import BackendError, ChatMessage, ChatRequest, ChatResponse, ScriptedBackend
from debate.agents.backends.balancing import LoadBalancedBackend
from debate.agents.backends.concurrency import ConcurrencyLimitedBackend
from debate.agents.backends.faults import FaultInjectingBackend
from debate.agents.backends.per_request import PerRequestBackend
from debate.agents.backends.retrying import RetryingBackend, RetryPolicy, TransientBackendError

FAST_RETRY = RetryPolicy(max_attempts=10, initial_wait_s=0.0005, max_wait_s=0.002)


def ask(agent: str = "a", round_: int = 0) -> ChatRequest:
    return ChatRequest(messages=[ChatMessage(role="user", content="2 + 2?")], agent=agent, round=round_)


class InFlightMeter:
    """A backend that answers after a short wait and records how many requests it holds at once."""

    name = "meter"

    def __init__(self) -> None:
        self.now = self.peak = self.served = 0

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        self.now += len(requests)
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.01)
        self.now -= len(requests)
        self.served += len(requests)
        return [ChatResponse(text="#### 4") for _ in requests]


async def test_injected_faults_are_retried_until_every_request_succeeds():
    flaky = FaultInjectingBackend(ScriptedBackend(lambda request: f"#### {request.round}"), rate=0.3, seed=7)
    backend = RetryingBackend(flaky, FAST_RETRY)

    responses = await backend.generate([ask(round_=i) for i in range(200)])

    assert [response.text for response in responses] == [f"#### {i}" for i in range(200)]
    assert backend.retries == flaky.injected == backend.attempts - 200
    assert 0.2 < flaky.injected / backend.attempts < 0.4  # the seeded rate, roughly


async def test_permanent_errors_are_not_retried():
    scripted = ScriptedBackend(fail_if=lambda request: True)  # raises a plain BackendError
    backend = RetryingBackend(scripted, FAST_RETRY)

    with pytest.raises(BackendError, match="scripted failure"):
        await backend.generate([ask()])

    assert (backend.attempts, backend.retries, len(scripted.calls)) == (1, 0, 1)


def test_the_concurrency_cap_holds_and_survives_a_new_event_loop():
    meter = InFlightMeter()
    backend = ConcurrencyLimitedBackend(meter, max_in_flight=2)

    for _ in range(2):  # each asyncio.run is a new loop, as with repeated run_debate calls
        asyncio.run(backend.generate([ask() for _ in range(8)]))

    assert (meter.peak, meter.served) == (2, 16)


async def test_an_unreachable_backend_is_skipped_for_a_while_then_tried_again():
    unreachable = FaultInjectingBackend(ScriptedBackend(default="#### 1"), rate=1.0, kind="connection")
    backend = LoadBalancedBackend([unreachable, ScriptedBackend(default="#### 2")], down_for_s=0.05)

    texts = [(await backend.generate([ask()]))[0].text for _ in range(4)]
    assert texts == ["#### 2"] * 4
    assert backend.fail_overs == 1  # tried once, then skipped

    await asyncio.sleep(0.06)
    await backend.generate([ask()])
    await backend.generate([ask()])
    assert backend.fail_overs == 2  # tried again once its time was up


async def test_other_transient_errors_are_left_to_the_retry_layer():
    overloaded = FaultInjectingBackend(ScriptedBackend(), rate=1.0, kind="rate_limited")
    backend = LoadBalancedBackend([overloaded, ScriptedBackend()])

    with pytest.raises(TransientBackendError) as caught:
        await asyncio.gather(*(backend.generate([ask()]) for _ in range(2)))

    assert caught.value.kind == "rate_limited" and backend.fail_overs == 0


async def test_when_every_backend_is_down_the_retry_layer_gives_up_with_a_clear_error():
    down = [FaultInjectingBackend(ScriptedBackend(), rate=1.0, kind="connection") for _ in range(2)]
    backend = RetryingBackend(LoadBalancedBackend(down), FAST_RETRY.model_copy(update={"max_attempts": 3}))

    with pytest.raises(BackendError, match="gave up after 3 attempts.*no backend reachable"):
        await backend.generate([ask()])


@pytest.mark.parametrize(
    ("build", "complaint"),
    [
        (
            lambda: ConcurrencyLimitedBackend(ScriptedBackend(), max_in_flight=0),
            "max_in_flight must be at least 1",
        ),
        (lambda: LoadBalancedBackend([]), "backends: LoadBalancedBackend needs at least one backend"),
        (lambda: FaultInjectingBackend(ScriptedBackend(), rate=1.5), "rate must be between 0 and 1"),
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
    ],
)
def test_bad_settings_fail_at_construction(build, complaint):
    with pytest.raises(ValueError, match=complaint):
        build()


class BatchCounter(PerRequestBackend):
    """A per-request backend that counts its ``generate`` calls; ``own_generate`` overrides ``generate``."""

    name = "counter"

    def __init__(self) -> None:
        self.batches = self.singles = 0

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        self.singles += 1
        return ChatResponse(text=f"#### {request.round}")


class OwnGenerate(BatchCounter):
    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        self.batches += 1
        return await super().generate(requests)


@pytest.mark.parametrize("wrap", [RetryingBackend, lambda inner: ConcurrencyLimitedBackend(inner, 2)])
async def test_wrappers_reach_generate_one_directly_unless_generate_is_overridden(wrap):
    # single requests go straight to a PerRequestBackend's generate_one (no generate/generate_one coroutines
    # in between), but a backend whose generate does more than that keeps getting its generate called
    plain, own = BatchCounter(), OwnGenerate()

    answers = [await wrap(inner).generate([ask(round_=3)]) for inner in (plain, own)]

    assert [[response.text for response in batch] for batch in answers] == [["#### 3"], ["#### 3"]]
    assert (plain.batches, plain.singles) == (0, 1)
    assert (own.batches, own.singles) == (1, 1)
