"""Parsers of the tools' output: corosync-quorumtool, corosync-qdevice-tool, corosync-qnetd-tool."""

import re


class Quorum(dict):
    """corosync-quorumtool -s, parsed. Keys as printed ('Quorate', 'Total votes', ...)."""

    @property
    def quorate(self):
        return self.get("Quorate") == "Yes"

    @property
    def total_votes(self):
        return int(self.get("Total votes", 0))

    @property
    def flags(self):
        return self.get("Flags", "").split()

    @property
    def members(self):
        return sorted(n for n in self["rows"] if n != 0)

    @property
    def qdevice(self):
        """Flags of the local node's Qdevice column (e.g. ['A', 'V', 'NMW']), [] if none."""
        for nodeid, row in self["rows"].items():
            if row["local"]:
                return row["qdevice"]
        return []

    @property
    def qdevice_votes(self):
        """Votes of the 'Qdevice' row of the membership table (0 when not listed)."""
        return self["rows"].get(0, {}).get("votes", 0)


def parse_quorum(text):
    q = Quorum(rows={})
    in_members = False
    for line in text.splitlines():
        if line.strip().startswith("Nodeid"):
            in_members = True
            continue
        m = re.match(r"^([A-Za-z][A-Za-z ]*?):\s+(.*?)\s*$", line)
        if m and not in_members:
            q[m.group(1)] = m.group(2)
            continue
        cols = line.split()
        if in_members and cols and cols[0].isdigit():
            # Nodeid Votes [Qdevice-flags] Name [(local)]
            nodeid, votes, rest = int(cols[0]), int(cols[1]), cols[2:]
            flags = rest[0].split(",") if nodeid != 0 and len(rest) > 1 and \
                re.fullmatch(r"[A-Z,]+", rest[0]) else []
            name = rest[1 if flags else 0] if len(rest) > (1 if flags else 0) else ""
            q["rows"][nodeid] = {"votes": votes, "qdevice": flags,
                                 "local": "(local)" in rest, "name": name}
    return q


def parse_colon_block(text):
    """'Key:<TABs>value' lines into a dict (first occurrence wins)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([^:\t]+):\t+(.*)$", line)
        if m:
            out.setdefault(m.group(1).strip(), m.group(2).strip())
    return out


def parse_qdevice_status(text):
    """corosync-qdevice-tool -s[v]: {'qdevice': {...}, 'net': {...}} per section."""
    generic, _, net = text.partition("Qdevice-net information")
    return {"qdevice": parse_colon_block(generic), "net": parse_colon_block(net)}


def parse_qnetd_list(text):
    """corosync-qnetd-tool -l[v]: {cluster: {'Algorithm':..., 'nodes': {id: {...}}}}."""
    clusters = {}
    cluster = node = None
    for line in text.splitlines():
        m = re.match(r'^Cluster "(.*)":$', line)
        if m:
            cluster = clusters.setdefault(m.group(1), {"nodes": {}})
            node = None
            continue
        m = re.match(r"^\s+Node ID (\d+):$", line)
        if m and cluster is not None:
            node = cluster["nodes"].setdefault(int(m.group(1)), {})
            continue
        m = re.match(r"^\s*([^:\t]+):\t+(.*)$", line)
        if m and cluster is not None:
            (node if node is not None else cluster)[m.group(1).strip()] = m.group(2).strip()
    return clusters
