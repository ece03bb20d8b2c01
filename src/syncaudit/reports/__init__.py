"""Reports: monthly compliance, third-country transfers, record of processing (Art. 30)."""
