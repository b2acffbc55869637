"""Token usage and cost: per model response, summed per run and per session, with token budgets."""

from agent_runtime.usage.hook import UsageHook
from agent_runtime.usage.meter import Breach, RunMeter, Usage, UsageLedger, with_usage
from agent_runtime.usage.prices import DEFAULT_PRICE_TABLE, PriceTable, load_prices

__all__ = [
    "DEFAULT_PRICE_TABLE",
    "Breach",
    "PriceTable",
    "RunMeter",
    "Usage",
    "UsageHook",
    "UsageLedger",
    "load_prices",
    "with_usage",
]
