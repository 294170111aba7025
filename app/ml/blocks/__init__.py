"""The registry of entity kinds that feed the features, one `KindBlock` per kind.

`BLOCKS` order is the order of the features after the order's own (`amount`,
`payment_terms_days`): stored models and stored decision features rely on `FEATURE_NAMES`, so a
new kind is appended at the end, never inserted. A new kind (say `receivables`) is one module
here beside the others, one entry below, and its schema in `app.ml.schema` (CONTRIBUTING.md,
"Adding an entity kind", lists the places outside `app/ml`).
"""

from app.ml.blocks import credit_limits, customers, orders, serasa_reports
from app.ml.blocks.base import KindBlock

BLOCKS: tuple[KindBlock, ...] = (
    customers.BLOCK,
    credit_limits.BLOCK,
    serasa_reports.BLOCK,
    orders.BLOCK,
)

BY_KIND: dict[str, KindBlock] = {block.kind: block for block in BLOCKS}
