"""A reviewer's jump in a replay ends what was going on where the replay left."""

from pathlib import Path

from drivers.sources import Recording
from monitor.alarms import AlarmState
from monitor.casemodel import open_case

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo_mvd.edf"


def _play(session, source, blocks: int) -> None:
    for _ in range(blocks):
        block = source.read()
        if block is not None:
            session.process(block)


def test_a_train_alarm_ends_where_the_replay_left_not_where_it_lands():
    case = open_case(Recording(DEMO, realtime=False, hold_at_end=True), start=False)
    session, source = case.pipeline.session, case.pipeline.session.source
    alarms = case.pipeline.monitoring.alarms
    try:
        seen, raised = 0, None
        for _ in range(400):  # until the first A-train alarm is raised
            _play(session, source, 1)
            seen, new = alarms.transitions_since(seen)
            raised = next((t for t in new if t.key.startswith("a_train:")), raised)
            if raised is not None:
                break
        assert raised is not None and raised.new is AlarmState.ACTIVE
        left_at = case.seconds_of(case.now_index())
        source.seek(0.0)  # Home
        _play(session, source, 20)
        _, after = alarms.transitions_since(seen)
        ended = [t for t in after if t.key == raised.key and t.new is AlarmState.RESOLVED]
        assert ended, "the jump ends the A-train alarm"
        when = case.seconds_of(ended[0].sample_index)
        assert raised.sample_index / source.info.rate <= when <= left_at + 1e-9
        assert when > 1.0  # not stamped at the start the replay jumped to
    finally:
        case.close()
