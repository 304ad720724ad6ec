"""The front ends: the command line, the Python-script runner, replay/dump, RFC 2544, the
end-of-run report; pcap files and filter code."""
