"""BatchingBackend: many concurrent single-request calls become a few batches at the wrapped backend."""

import asyncio

import pytest
from debate.agents.backends import BackendError, ChatMessage, ChatRequest, ScriptedBackend, generate_one
from debate.agents.backends.batching import BatchingBackend


class BatchCountingBackend(ScriptedBackend):
    """A scripted model that remembers the size of every batch it was sent."""

    def __init__(self, **kwargs):
        super().__init__(lambda request: f"answer for {request.agent}", **kwargs)
        self.batch_sizes: list[int] = []
        self.batch_agents: list[list[str]] = []

    async def generate(self, requests):
        self.batch_sizes.append(len(requests))
        self.batch_agents.append([request.agent for request in requests])
        return await super().generate(requests)


def request(agent: str, padding: int = 0) -> ChatRequest:
    return ChatRequest(
        messages=[ChatMessage(role="user", content=f"question from {agent}" + " and more" * padding)], agent=agent
    )


async def test_concurrent_single_requests_become_few_batches_and_each_caller_gets_its_own_answer():
    model = BatchCountingBackend()
    backend = BatchingBackend(model, max_batch_size=8, max_wait_s=0.05)
    agents = [f"agent{i}" for i in range(20)]

    responses = await asyncio.gather(*(generate_one(backend, request(agent)) for agent in agents))

    assert [response.text for response in responses] == [f"answer for {agent}" for agent in agents]
    assert model.batch_sizes == [8, 8, 4]
    assert backend.batches == 3


async def test_a_multi_request_call_gets_its_responses_in_order():
    backend = BatchingBackend(BatchCountingBackend(), max_batch_size=2, max_wait_s=0.01)
    agents = ["x", "y", "z", "w", "v"]

    responses = await backend.generate([request(agent) for agent in agents])

    assert [response.text for response in responses] == [f"answer for {agent}" for agent in agents]


async def test_requests_arriving_while_a_batch_runs_go_out_together_when_it_finishes():
    model = BatchCountingBackend(latency_s=0.2)
    backend = BatchingBackend(model, max_batch_size=16, max_wait_s=0.001)

    first = asyncio.create_task(generate_one(backend, request("early")))
    await asyncio.sleep(0.05)  # the first batch is now running on the model
    later = [asyncio.create_task(generate_one(backend, request(f"late{i}"))) for i in range(10)]
    await asyncio.gather(first, *later)

    assert model.batch_sizes == [1, 10]


async def test_a_batch_is_the_oldest_request_and_those_closest_to_it_in_length():
    """Padding costs every row as much as the longest prompt, so short prompts go out together, long ones too."""
    model = BatchCountingBackend(latency_s=0.1)
    backend = BatchingBackend(model, max_batch_size=3, max_wait_s=0.001)

    first = asyncio.create_task(generate_one(backend, request("first")))
    await asyncio.sleep(0.03)  # the first batch is now running; the rest queue up behind it
    lengths = {"long1": 200, "short1": 0, "long2": 210, "short2": 1, "short3": 2, "long3": 190}
    queued = [asyncio.create_task(generate_one(backend, request(agent, padding))) for agent, padding in lengths.items()]
    responses = await asyncio.gather(first, *queued)

    assert [response.text for response in responses[1:]] == [f"answer for {agent}" for agent in lengths]
    assert model.batch_agents == [["first"], ["long1", "long2", "long3"], ["short1", "short2", "short3"]]


async def test_a_failing_request_fails_only_its_own_caller():
    model = BatchCountingBackend(fail_if=lambda request: request.agent == "bad")
    backend = BatchingBackend(model, max_batch_size=8, max_wait_s=0.05)
    agents = ["good1", "bad", "good2"]

    outcomes = await asyncio.gather(
        *(generate_one(backend, request(agent)) for agent in agents), return_exceptions=True
    )

    assert outcomes[0].text == "answer for good1" and outcomes[2].text == "answer for good2"
    assert isinstance(outcomes[1], BackendError) and "'bad'" in str(outcomes[1])
    assert model.batch_sizes == [3, 1, 1, 1]  # the failed batch, then each request alone to find the culprit


async def test_a_cancelled_caller_leaves_the_others_served():
    model = BatchCountingBackend(latency_s=0.05)
    backend = BatchingBackend(model, max_batch_size=8, max_wait_s=0.05)

    impatient = asyncio.create_task(generate_one(backend, request("impatient")))
    patient = asyncio.create_task(generate_one(backend, request("patient")))
    await asyncio.sleep(0.01)
    impatient.cancel()

    assert (await patient).text == "answer for patient"
    assert impatient.cancelled()
    assert [call.agent for call in model.calls] == ["patient"]


def test_one_wrapper_serves_several_event_loops():
    """``run_debate`` starts a new event loop each call; the wrapper's queues belong to each loop."""
    backend = BatchingBackend(BatchCountingBackend(), max_wait_s=0.01)
    for _ in range(2):
        [response] = asyncio.run(backend.generate([request("a")]))
        assert response.text == "answer for a"


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"max_wait_s": -1}, "max_wait_s"),
        ({"max_concurrent_batches": 0}, "max_concurrent_batches"),
    ],
)
def test_bad_settings_name_themselves(settings, complaint):
    with pytest.raises(ValueError, match=complaint):
        BatchingBackend(ScriptedBackend(), **settings)
