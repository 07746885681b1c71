"""The embedded demo model: trained locally for the arithmetic testbed, in the prompts its debaters actually see."""

import json
import re
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from debate import ScriptedBackend, run_debate
from debate.arithmetic import METHOD_PROMPTS, method_solution, problems
from debate.cli import main
from debate.demo_model import (
    BUILD_INFO_FILE,
    CHECK_PROBLEMS,
    TASK,
    DemoConfig,
    _build_problems,
    _Example,
    _optimizers,
    _solved_share,
    build_demo_model,
    default_demo_dir,
    demo_model_ready,
    own_debate_turns,
    training_conversations,
)
from debate.loading import load_scenario

TINY_BUILD = ["--turns", "96", "--own-debates", "8", "--hidden-size", "32", "--layers", "1", "--vocab-size", "300"]  # fmt: skip


def test_solving_turns_are_the_prompt_each_debater_sees_in_round_zero_answered_in_its_method():
    items = list(problems("build", limit=30))
    conversations = training_conversations(items, DemoConfig(revision_share=0.0))
    backend = ScriptedBackend(default="#### 1")
    scenario = load_scenario("arithmetic_rcr")
    method_of = {prompt: method for method, prompt in METHOD_PROMPTS.items()}

    seen = set()
    for problem, (system, user, answer) in zip(items, conversations, strict=True):
        backend.calls.clear()
        run_debate(scenario, problem.question, backend=backend)
        round_zero = {call.agent: call.chat() for call in backend.calls if call.round == 0}
        assert [system, user] in round_zero.values()  # what one of the debaters reads in round 0
        method = method_of[system["content"]]
        assert answer == {"role": "assistant", "content": method_solution(problem, method)}
        seen.add(method)
    assert seen == set(METHOD_PROMPTS)
    # the baseline asks exactly as the first debater does in round 0
    single = ScriptedBackend(default="#### 1")
    run_debate(load_scenario("arithmetic_single"), items[-1].question, backend=single)
    assert single.calls[0].chat() == round_zero["a"]


def test_revision_turns_are_what_a_debater_reads_in_a_later_round_of_a_real_debate():
    items = list(problems("build", limit=20))
    conversations = training_conversations(items, DemoConfig(revision_share=1.0))
    scenario = load_scenario("arithmetic_rcr")

    for problem, (system, user, _) in zip(items, conversations, strict=True):
        shown = dict(re.findall(r"Agent (\w) said: (-?\d+)", user["content"]))
        [author] = {"a", "b", "c"} - set(shown)  # the debater this turn was written for
        shown[author] = re.search(r"You said: (-?\d+)", user["content"]).group(1)
        # a real debate whose debaters answered round 0 with the answers shown
        backend = ScriptedBackend(lambda request, shown=shown: f"#### {shown[request.agent]}")
        run_debate(scenario, problem.question, backend=backend)
        later = [call.chat() for call in backend.calls if call.round == 1 and call.agent == author]
        if len(set(shown.values())) == 1:
            assert later == []  # everyone agreed: the debate stops before the round this turn shows
        else:
            assert later == [[system, user]]


def test_revision_turns_show_right_and_wrong_answers_and_are_always_answered_correctly():
    items = list(problems("build", limit=400))
    conversations = training_conversations(items, DemoConfig(revision_share=1.0))
    method_of = {prompt: method for method, prompt in METHOD_PROMPTS.items()}

    right = wrong = 0
    for problem, (system, user, answer) in zip(items, conversations, strict=True):
        assert answer["content"] == method_solution(problem, method_of[system["content"]])
        assert answer["content"].endswith(f"#### {problem.answer}")  # the correct solution, whoever was right
        for shown in re.findall(r"said: (-?\d+)", user["content"]):
            right += int(shown) == problem.answer
            wrong += int(shown) != problem.answer
    assert right > 300 and wrong > 300
    assert 0.4 < right / (right + wrong) < 0.6  # hints right with probability 0.2, 0.4, 0.6 or 0.8


def test_training_turns_are_reproducible_from_the_seed_and_mix_solving_and_revising():
    items = list(problems("build", limit=200))
    turns = training_conversations(items, DemoConfig(seed=3))
    assert turns == training_conversations(items, DemoConfig(seed=3))
    assert turns != training_conversations(items, DemoConfig(seed=4))
    revisions = sum("You said:" in user["content"] for _, user, _ in turns)
    assert 50 < revisions < 110  # revision_share 0.4


def test_own_debate_turns_revise_the_models_real_first_answers_and_keep_those_as_it_wrote_them():
    items = list(problems("build", limit=5))
    by_question = {problem.question: problem for problem in items}
    agreeing = items[0].question
    method_of = {prompt: method for method, prompt in METHOD_PROMPTS.items()}

    def first_answers(request):
        assert request.round == 0  # later rounds never reach the model
        problem = by_question[request.messages[-1].content.removeprefix("Question: ")]
        if request.agent == "a" or problem.question == agreeing:
            return problem.solution
        return f"#### {problem.answer + (1 if request.agent == 'b' else 2)}"

    model = ScriptedBackend(first_answers)
    own = own_debate_turns(model, items, seed=0)

    assert len(model.calls) == 3 * len(items)
    assert len(own.revisions) == 3 * (len(items) - 1)  # the debate that agreed at once has no round 1
    for system, user, answer in own.revisions:
        problem = by_question[re.search(r"Question: (.*)\Z", user["content"]).group(1)]
        assert problem.question != agreeing
        assert answer["content"] == method_solution(problem, method_of[system["content"]])
        shown = sorted(re.findall(r"said: (-?\d+)", user["content"]))
        assert shown == sorted(str(problem.answer + offset) for offset in (0, 1, 2))  # its own and its peers'
    # every first answer of every debate, as the model wrote it: the 8 slips as well as the right ones
    assert own.first_answers == [
        [*call.chat(), {"role": "assistant", "content": first_answers(call)}] for call in model.calls
    ]
    assert sum(answer["content"].startswith("#### ") for *_, answer in own.first_answers) == 2 * 4


def test_the_default_location_follows_debate_home(monkeypatch, tmp_path):
    monkeypatch.setenv("DEBATE_HOME", str(tmp_path))
    assert default_demo_dir() == tmp_path / "demo-model"
    monkeypatch.delenv("DEBATE_HOME")
    assert str(default_demo_dir()).endswith(".cache/debate/demo-model")


def test_build_demo_trains_saves_and_the_model_debates_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "demo"
    assert not demo_model_ready(out)

    assert main(["model", "build-demo", "--out", str(out), *TINY_BUILD, "--quiet"]) == 0

    printed = capsys.readouterr().out
    assert f"demo model: {out}" in printed and f"--backend hf:{out}" in printed
    info = json.loads((out / BUILD_INFO_FILE).read_text())
    assert (info["config"]["hidden_size"], info["task"]) == (32, TASK)
    assert info["solving_turns"] + info["revision_turns"] == 96 and info["revision_turns"] > 10
    assert info["own_revision_turns"] % 3 == 0  # three debaters revise in each debate that did not agree
    assert info["own_first_answers"] == 3 * 8  # and every first answer of the 8 debates is kept
    stage_two = -(-(info["own_revision_turns"] + info["own_first_answers"]) // 16)
    assert info["steps"] == 96 // 16 + stage_two  # stage 1's whole schedule: it is shorter than --steps
    assert demo_model_ready(out)
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= {path.name for path in out.iterdir()}

    question = "Ana has 12 apples. Ana buys 5 more. How many apples does Ana have now?"
    assert main(["ask", "arithmetic_rcr", question, "--backend", f"hf:{out}?device=cpu"]) == 0
    assert "=== final answer:" in capsys.readouterr().out


def test_without_keeping_first_answers_the_second_stage_trains_on_revisions_alone(tmp_path):
    out = tmp_path / "demo"
    build = [*TINY_BUILD, "--no-keep-first-answers", "--quiet"]
    assert main(["model", "build-demo", "--out", str(out), *build]) == 0

    info = json.loads((out / BUILD_INFO_FILE).read_text())
    assert (info["config"]["keep_first_answers"], info["own_first_answers"]) == (False, 0)
    assert info["steps"] == 96 // 16 + -(-info["own_revision_turns"] // 16)


def test_without_a_terminal_the_build_logs_lines_instead_of_drawing_bars(tmp_path, capsys):
    assert main(["model", "build-demo", "--out", str(tmp_path / "demo"), *TINY_BUILD]) == 0

    logged = capsys.readouterr().err
    assert "\r" not in logged and "Loading weights" not in logged and "it/s" not in logged
    assert re.search(r"^debate model build-demo: training the demo model: (\d+)/\1 steps, loss", logged, re.M)
    assert "debate model build-demo: learning to revise: the model debates 8 problems" in logged


def test_training_stops_after_the_steps_asked_for_with_the_schedule_of_the_whole_pass(tmp_path):
    out = tmp_path / "demo"
    build = [*TINY_BUILD, "--steps", "4", "--own-debates", "0", "--quiet"]
    assert main(["model", "build-demo", "--out", str(out), *build]) == 0
    info = json.loads((out / BUILD_INFO_FILE).read_text())
    assert info["steps"] == 4
    assert info["solving_turns"] + info["revision_turns"] == 4 * 16  # the turns trained on, not all drawn


def test_stage_one_stops_once_the_model_writes_enough_held_out_solutions(tmp_path):
    config = DemoConfig(turns=96, own_debates=0, hidden_size=32, layers=1, vocab_size=300, check_every=2)

    never = build_demo_model(tmp_path / "never", replace(config, stop_when_solved=1.0), progress=False)
    at_once = build_demo_model(tmp_path / "at-once", replace(config, stop_when_solved=0.0), progress=False)
    unchecked = build_demo_model(
        tmp_path / "unchecked", replace(config, stop_when_solved=None), progress=False
    )

    assert (never.stage_one_steps, never.solved) == (96 // 16, 0.0)  # a model of 6 steps solves nothing
    assert (at_once.stage_one_steps, at_once.solved) == (2, 0.0)  # the first check already suffices
    assert (unchecked.stage_one_steps, unchecked.solved) == (96 // 16, None)


def test_the_second_stage_size_does_not_move_the_problems_stage_one_is_checked_on():
    without, default, larger = (
        _build_problems(DemoConfig(turns=50, own_debates=n)) for n in (0, 1_200, 2_000)
    )

    assert without[2] == default[2] == larger[2] and len(default[2]) == CHECK_PROBLEMS
    assert [len(own) for _, own, _ in (without, default, larger)] == [0, 1_200, 2_000]
    turns, _, check = default
    assert not set(turns) & set(check)  # held out


def test_on_a_terminal_the_bar_ends_full_where_stage_one_stopped(tmp_path, capsys):
    config = DemoConfig(turns=96, own_debates=0, hidden_size=32, layers=1, vocab_size=300, check_every=2)

    build_demo_model(tmp_path / "demo", replace(config, stop_when_solved=0.0), progress="bar")

    drawn = capsys.readouterr().err.replace("\n", "\r").split("\r")
    last = [line for line in drawn if line.startswith("training the demo model")][-1]
    assert "2/2" in last  # not "2/6": the schedule has 6 steps, the check stopped it after 2


def test_muon_trains_the_matrices_inside_the_layers_and_adamw_everything_else():
    from debate.tiny_model import init_model, train_tokenizer

    tokenizer = train_tokenizer(["Ana has 12 apples. 12 + 5 = 17"], vocab_size=300, digits=True)
    model = init_model(tokenizer, hidden_size=32, layers=2, heads=4)
    names = {id(parameter): name for name, parameter in model.named_parameters()}

    adamw, muon = _optimizers(model, DemoConfig(learning_rate=3e-3, muon_learning_rate=1e-3))
    (only,) = _optimizers(model, DemoConfig(muon_learning_rate=None))

    by_muon = {names[id(p)] for group in muon.param_groups for p in group["params"]}
    by_adamw = {names[id(p)] for group in adamw.param_groups for p in group["params"]}
    assert (type(muon).__name__, type(adamw).__name__, type(only).__name__) == ("Muon", "AdamW", "AdamW")
    assert by_muon | by_adamw == set(names.values()) and not by_muon & by_adamw
    assert (
        "model.layers.1.mlp.down_proj.weight" in by_muon
        and "model.layers.0.self_attn.q_proj.weight" in by_muon
    )
    assert {
        "model.embed_tokens.weight",
        "model.norm.weight",
        "model.layers.0.input_layernorm.weight",
    } <= by_adamw
    assert (muon.defaults["lr"], adamw.defaults["lr"]) == (1e-3, 3e-3)


def test_the_build_records_whether_stage_one_used_muon(tmp_path, capsys):
    adamw = ["--muon-learning-rate", "off", "--quiet"]
    assert main(["model", "build-demo", "--out", str(tmp_path / "adamw"), *TINY_BUILD, *adamw]) == 0

    config = json.loads((tmp_path / "adamw" / BUILD_INFO_FILE).read_text())["config"]
    assert (config["muon_learning_rate"], DemoConfig().muon_learning_rate) == (None, 1.5e-3)
    with pytest.raises(SystemExit):
        main(["model", "build-demo", "--muon-learning-rate", "0"])
    assert "expected a learning rate above 0, or 'off'" in capsys.readouterr().err


class CopyingModel(torch.nn.Module):
    """Predicts every next token from the sequence it is shown, except at the positions it is told to miss."""

    def __init__(self, misses: list[tuple[int, int]]) -> None:
        super().__init__()
        self.misses = misses

    def forward(self, input_ids, attention_mask):
        logits = torch.nn.functional.one_hot(input_ids.roll(-1, dims=1), 64).float()
        for row, position in self.misses:
            logits[row, position] = logits[row, position].roll(1)
        return SimpleNamespace(logits=logits)


def test_a_solution_counts_as_solved_only_when_every_answer_token_is_the_first_choice():
    examples = [_Example([1, 2, 3, 4, 5], [-100, -100, -100, 4, 5]) for _ in range(4)]
    # row 0 misses an answer token (predicting position 3 from 2), row 1 a prompt token: only row 0 is wrong
    model = CopyingModel(misses=[(0, 2), (1, 0)])

    assert _solved_share(model, examples, pad_token_id=0, device="cpu") == 3 / 4


def test_the_tokenizer_keeps_digits_apart(tmp_path):
    from transformers import AutoTokenizer

    out = tmp_path / "demo"
    assert main(["model", "build-demo", "--out", str(out), *TINY_BUILD, "--quiet"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(out)
    pieces = [tokenizer.decode([token]) for token in tokenizer("47 + 158 = 205")["input_ids"]]
    assert [piece for piece in pieces if piece.strip().isdigit()] == list("47158205")


def test_a_model_built_for_another_task_is_not_ready(tmp_path):
    (tmp_path / BUILD_INFO_FILE).write_text(json.dumps({"config": {}, "steps": 468}))  # the GSM8K demo model
    assert not demo_model_ready(tmp_path)


def test_invalid_build_settings_name_the_field(capsys):
    with pytest.raises(ValueError, match=r"hidden_size \(30\) must be a multiple of heads \(4\)"):
        DemoConfig(hidden_size=30)
    with pytest.raises(ValueError, match=r"hint_accuracies must be probabilities"):
        DemoConfig(hint_accuracies=(0.5, 1.5))
    with pytest.raises(ValueError, match=r"method_weights must be 3 weights, one per method \(in order, "):
        DemoConfig(method_weights=(1.0, 1.0))
    assert main(["model", "build-demo", "--turns", "0"]) == 2
    assert "turns must be at least 1" in capsys.readouterr().err


def test_training_tokens_are_the_chat_template_s_with_the_loss_on_the_answer_alone():
    from jinja2 import Template

    from debate.demo_model import _tokenize
    from debate.tiny_model import CHAT_TEMPLATE, train_tokenizer

    conversations = training_conversations(list(problems("build", limit=40)), DemoConfig())
    tokenizer = train_tokenizer(
        (Template(CHAT_TEMPLATE).render(messages=c) for c in conversations), vocab_size=300, digits=True
    )

    for conversation, example in zip(conversations, _tokenize(tokenizer, conversations), strict=True):
        prompt = tokenizer.apply_chat_template(conversation[:-1], add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]  # what a backend sends
        answer_ids = tokenizer(conversation[-1]["content"] + "<|end|>", add_special_tokens=False)["input_ids"]
        assert example.input_ids == prompt_ids + answer_ids
        assert example.labels == [-100] * len(prompt_ids) + answer_ids
