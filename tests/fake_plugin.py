"""A semmatch plugin for tests: registers the keyword fake as model "test-keywords".

Enable it with SEMMATCH_PLUGINS=tests.fake_plugin.

Used where the embedder is built in another process or by the app (AppTest, the browser end-to-end test)."""

from semmatch.embed.registry import register_embedder
from tests.conftest import KeywordEmbedder

register_embedder("test-keywords", lambda config: KeywordEmbedder())


def _cached(config):
    from semmatch.embed.cache import EmbeddingCache

    cache = EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite") if config.use_cache else None
    return KeywordEmbedder(cache=cache)


register_embedder("test-keywords-cached", _cached)  # with the on-disk cache of its config (the Ray tests fill it)
