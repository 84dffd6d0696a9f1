"""The shared builders themselves: ``masked`` hides what changes from render to render and
nothing else, so comparisons of masked pages still say what the pages say."""

from tests.factories import masked


def test_masked_blanks_tokens_keys_and_nonces_and_nothing_else():
    page = ('<input type="hidden" name="csrf_token" value="IjJmYj.aw9reg.fiPU">'
            '<input id="reset-csrf_token" name="reset-csrf_token" type="hidden" value="IjMz.aw9r">'
            '<input id="idempotency_key" name="idempotency_key" type="hidden" value="b2ef73bedd75">'
            '<meta name="csrf-token" content="IjJm.aw9"><script nonce="r4nd0m" src="/a.js"></script>'
            '<input id="lot" name="lot" type="text" value="SECRET-LOT"><p>value="kept"</p>')
    assert masked(page) == (
        '<input type="hidden" name="csrf_token" value="…">'
        '<input id="reset-csrf_token" name="reset-csrf_token" type="hidden" value="…">'
        '<input id="idempotency_key" name="idempotency_key" type="hidden" value="…">'
        '<meta name="csrf-token" content="…"><script nonce="…" src="/a.js"></script>'
        '<input id="lot" name="lot" type="text" value="SECRET-LOT"><p>value="kept"</p>')


def test_two_renders_of_a_form_differ_only_where_masked(client, login, keeper):
    login("xb")
    first, second = (client.get("/stock/issue").get_data(as_text=True) for _ in range(2))
    assert first != second, "each render carries a fresh idempotency key"
    assert masked(first) == masked(second)
    assert masked(first) != masked(client.get("/stock/receive").get_data(as_text=True))
