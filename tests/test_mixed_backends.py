"""One debate, several models: each agent names its backend (a key of the mapping, or a URI)."""

from debate.agents.backends.transformers import TransformersBackend

from debate import Debater, SamplingParams, Scenario, ScriptedBackend, run_debate

SHORT = SamplingParams(temperature=0.8, max_tokens=12, seed=0)
QUESTION = "A farmer has 5 cows and buys 3 more. How many cows?"


def test_one_debater_on_a_local_model_and_two_on_a_scripted_one(tiny_model_dir):
    local = TransformersBackend(tiny_model_dir, device="cpu")
    scripted = ScriptedBackend({"b": "5 + 3 = 8\n#### 8", "c": ["#### 7", "#### 8"]})
    scenario = Scenario(
        name="mixed",
        agents=[Debater("a", backend="local", sampling=SHORT), Debater("b"), Debater("c")],
        protocol="rcr",
        rounds=2,
        stop="fixed",
    )

    result = run_debate(scenario, QUESTION, backend={"local": local, "default": scripted})

    served_by = {message.author: message.model for message in result.transcript.messages}
    assert served_by == {"a": local.model_path, "b": "scripted", "c": "scripted"}
    assert {request.agent for request in scripted.calls} == {"b", "c"}
    local_messages = [message for message in result.transcript.messages if message.author == "a"]
    assert len(local_messages) == 2 and all(m.usage.completion_tokens > 0 for m in local_messages)
    assert result.transcript.messages[-1].model != local_messages[-1].model


def test_an_agent_can_name_its_backend_by_uri(tiny_model_dir):
    scripted = ScriptedBackend(default="#### 8")
    scenario = Scenario(
        name="mixed-uri",
        agents=[
            Debater("local", backend=f"hf:{tiny_model_dir}?device=cpu", sampling=SHORT),
            Debater("remote"),
        ],
        protocol="simultaneous",
        rounds=1,
        stop="fixed",
    )

    result = run_debate(scenario, QUESTION, backend=scripted)

    models = {message.author: message.model for message in result.transcript.messages}
    assert models == {"local": str(tiny_model_dir.resolve()), "remote": "scripted"}
    assert [request.agent for request in scripted.calls] == ["remote"]
