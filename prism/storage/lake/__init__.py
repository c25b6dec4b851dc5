"""The analytics lake: hive-partitioned Parquet datasets in a folder or on S3, read by DuckDB.

``datasets`` says what the lake holds; ``objects`` stores files atomically in a
folder or an S3 prefix; ``manifest`` is each dataset's commit record; ``writer``
merges rows and commits under the one writer's ``lease``; ``lake`` reads with the
same SQL wherever the files are. With an owner key the per-owner files are encrypted
(``encryption``); ``sealing`` moves them from one key to another. The on-disk format is ``docs/lake-format.md``.
"""

from prism.storage.lake.datasets import DATASETS, ETF_HOLDINGS, FX, PRICES, RESULTS, SNAPSHOTS, Dataset
from prism.storage.lake.encryption import OWNER_KEY_BYTES, owner_file_key
from prism.storage.lake.lake import Lake, dataset_root, open_lake
from prism.storage.lake.lease import writer_lease
from prism.storage.lake.sealing import drop_owner_datasets, reseal_owner_datasets
from prism.storage.lake.writer import WriteResult, write_rows

__all__ = [
    "DATASETS",
    "ETF_HOLDINGS",
    "FX",
    "OWNER_KEY_BYTES",
    "PRICES",
    "RESULTS",
    "SNAPSHOTS",
    "Dataset",
    "Lake",
    "WriteResult",
    "dataset_root",
    "open_lake",
    "owner_file_key",
    "drop_owner_datasets",
    "reseal_owner_datasets",
    "write_rows",
    "writer_lease",
]
