"""Network tools (Qt-free): the WAN-simulating TCP proxy used by benchmarks and tests."""
