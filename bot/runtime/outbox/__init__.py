"""The outbox: rows written by turns (`enqueue`), claimed and sent after commit (`dispatcher`), each
outcome recorded (`outcomes`), paced per channel (`pacing`), with one-click unsubscribe links
(`unsubscribe`) and provider delivery reports (`reports`)."""
