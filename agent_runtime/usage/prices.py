"""The price table: dollars per million tokens by model id, read from a YAML data file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_runtime import yamltext
from agent_runtime.errors import ConfigError
from agent_runtime.usage.meter import Usage

__all__ = ["DEFAULT_PRICE_TABLE", "ModelPrice", "PriceTable", "load_prices"]

logger = logging.getLogger(__name__)

DEFAULT_PRICE_TABLE = Path(__file__).with_name("prices.yaml")
_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "jp.", "au.")
_PerMillion = Annotated[float, Field(ge=0, le=10_000)]


class ModelPrice(BaseModel):
    """Dollars per million tokens of each kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: _PerMillion
    output: _PerMillion
    cache_read: _PerMillion | None = None
    cache_write: _PerMillion | None = None

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` in dollars (cache reads/writes at input price when not listed)."""
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * read
            + usage.cache_write_tokens * write
        ) / 1_000_000


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelPrice]


class PriceTable:
    """Prices by model id."""

    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        """Index the prices."""
        self._prices = dict(prices)
        self._unknown: set[str] = set()

    def price(self, model_id: str) -> ModelPrice | None:
        """The price of ``model_id`` (also tried without a Bedrock inference-profile prefix)."""
        found = self._prices.get(model_id)
        if found is None:
            for prefix in _PROFILE_PREFIXES:
                if model_id.startswith(prefix):
                    found = self._prices.get(model_id.removeprefix(prefix))
                    break
        if found is None and model_id not in self._unknown:
            self._unknown.add(model_id)
            logger.warning("model_id=<%s> | no price for this model; counting its cost as 0", model_id)
        return found

    def cost(self, model_id: str, usage: Usage) -> float:
        """Dollars for ``usage`` on ``model_id`` (0 when not priced)."""
        price = self.price(model_id)
        return price.cost(usage) if price is not None else 0.0


def load_prices(path: Path) -> PriceTable:
    """Read and validate a price file.

    Raises:
        ConfigError: One line saying what is wrong.
    """
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
        return PriceTable(_PriceFile.model_validate(raw).models)
    except OSError as exc:
        raise ConfigError(f"PRICE_TABLE {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError:
        raise ConfigError(f"PRICE_TABLE {path}: not valid YAML") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "file"
        raise ConfigError(f"PRICE_TABLE {path}: {loc}: {err.get('msg', 'invalid')}") from None
