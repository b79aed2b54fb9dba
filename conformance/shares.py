"""Each API version's share of a run: its cases, the requests its contract builds, and which exchange answers each.

The engine sends one flat set of requests keyed by exchange id. The primary version's requests keep
their scenario ids; another version's get the version as a suffix (``param.temperature.present@2026-10-21``),
except where a request is identical to one the primary version sends: then both shares point at the
one exchange and it is sent once. A judge always sees its share under the scenario ids its own spec
uses, so judge.py and the checks know nothing of versions; findings are mapped back to exchange ids
for the reports. The primary share also sees every other version's exchanges under their own ids, so
a version-independent property rule (error envelope, headers, shape) judges every answer of the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from .cacheable import fresh_nonce
from .contract.model import Contract
from .exchange import Exchange
from .findings import Finding, Violation
from .scenarios import Case, Request, build_request, plan_requests, primary_scheme, scenario_specs
from .versions import MARK


@dataclass(frozen=True)
class Share:
    """One API version's part of a run."""

    version: str
    contract: Contract
    cases: tuple[Case, ...]
    requests: Mapping[str, Request]  # scenario id (as this contract names it) -> the request its contract builds
    wire: Mapping[str, str]  # scenario id -> id of the exchange that answers it in the run
    primary: bool = False

    def view(self, exchanges: Mapping[str, Exchange]) -> dict[str, Exchange]:
        """The run's exchanges this share judges, under its own scenario ids."""
        out: dict[str, Exchange] = {}
        for sid, wid in self.wire.items():
            exchange = exchanges.get(wid)
            if exchange is not None:
                out[sid] = exchange if exchange.id == sid else replace(exchange, id=sid)
        return out

    def exchange_id(self, sid: str) -> str:
        """The run's exchange id of one of this share's scenarios."""
        return self.wire.get(sid, sid)

    def to_run(self, finding: Finding) -> Finding:
        """A finding with the exchanges it cites renamed to the run's exchange ids (what cassette and report use)."""
        if self.primary:  # the primary share names every exchange by its run id already
            return finding
        return replace(
            finding,
            exchanges=tuple(self.exchange_id(sid) for sid in finding.exchanges),
            violations=tuple(_renamed(v, self.exchange_id) for v in finding.violations),
            judged=tuple(self._judged(item) for item in finding.judged),
            message=_BRACKETED.sub(lambda m: f"[{self.exchange_id(m.group(1))}]", finding.message),
        )

    def _judged(self, item: str) -> str:
        sid, sep, rest = item.partition(": ")
        return f"{self.exchange_id(sid)}{sep}{rest}" if sep and sid in self.wire else item


_BRACKETED = re.compile(r"(?m)^\[([^\]\n]+)\]")  # the judge opens each shown violation with "[scenario id]"


def _renamed(violation: Violation, name: Callable[[str], str]) -> Violation:
    return violation if violation.exchange is None else replace(violation, exchange=name(violation.exchange))


def wire_id(sid: str, version: str) -> str:
    """The exchange id of a scenario sent under a version other than the run's primary one."""
    return f"{sid}{MARK}{version}"


Wire = tuple[object, ...]


def _fingerprint(request: Request, to_wire: Mapping[str, str]) -> Wire:
    """What the target receives: two requests with equal fingerprints are one exchange (a follow-up's body also depends on the answer it continues)."""
    follows = to_wire.get(request.follows, request.follows) if request.follows else None
    return (request.endpoint, request.method, request.path, request.headers, request.auth, request.body, request.stream, request.retry, follows, request.reply)


def _named(sid: str | None, wire: Mapping[str, str]) -> str | None:
    return wire.get(sid, sid) if sid else None


def _other_share(version: str, contract: Contract, cases: Sequence[Case], model: str, sent: Mapping[Wire, list[str]], *, scheme: str, nonce: str = "") -> tuple[Share, dict[str, Request]]:
    """A non-primary version's share, and the requests it adds to the run (those the primary does not send already).

    Its requests carry its version and the run's auth scheme (``scheme``), not the one its SDK would
    pick: the version is then the only thing that differs between two versions' answers, and a target
    that refuses a scheme fails the auth rules once instead of every case of the other version.
    """
    builder = replace(contract, profile=replace(contract.profile, auth_primary=scheme))
    local = plan_requests(builder, cases, model=model, nonce=nonce)
    wire: dict[str, str] = {}
    added: dict[str, Request] = {}

    def resolve(sid: str) -> str:
        if sid in wire:
            return wire[sid]
        request = local[sid]
        for dep in (request.twin, request.follows):
            if dep and dep in local:
                resolve(dep)
        # One of the primary's exchanges with these very bytes, preferably under the same name, never
        # one this share uses already: a view holds each answer once (run-wide uniqueness checks read it).
        taken = set(wire.values())
        same = sorted((sid != other, other) for other in sent.get(_fingerprint(request, wire), ()) if other not in taken)
        if same:
            wire[sid] = same[0][1]
        else:
            wid = wire[sid] = wire_id(sid, version)
            added[wid] = replace(request, scenario=wid, twin=_named(request.twin, wire), follows=_named(request.follows, wire))
        return wire[sid]

    for sid in local:
        resolve(sid)
    return Share(version=version, contract=contract, cases=tuple(cases), requests=local, wire=wire), added


def plan_shares(
    contracts: Mapping[str, Contract], cases: Sequence[Case], *, model: str, preflight: str | None = None, nonce: str | None = None
) -> tuple[tuple[Share, ...], dict[str, Request]]:
    """Each version's share of ``cases`` and the run's requests (the primary's ``preflight`` first, when anything is sent at all).

    ``nonce`` opens the prompt-caching probes' prefix (cacheable.py); one is drawn per plan when none
    is given, so every run writes a prefix no earlier run cached, and both versions' shares send the same one.
    """
    nonce = fresh_nonce() if nonce is None else nonce
    primary, *others = list(contracts)
    contract = contracts[primary]
    mine = [c for c in cases if c.api_version in (None, primary)]
    requests = plan_requests(contract, mine, model=model, nonce=nonce)
    sent: dict[Wire, list[str]] = {}
    first = None
    if preflight is not None:
        first = requests.get(preflight) or build_request(contract, scenario_specs(contract, model), preflight, model=model)
        sent[_fingerprint(first, {})] = [preflight]
    for sid, request in requests.items():
        names = sent.setdefault(_fingerprint(request, {}), [])
        if sid not in names:
            names.append(sid)
    shares: list[Share] = []
    extra: dict[str, Request] = {}
    for version in others:
        share, added = _other_share(version, contracts[version], [c for c in cases if c.api_version == version], model, sent, scheme=primary_scheme(contract), nonce=nonce)
        shares.append(share)
        extra.update(added)
    if preflight is not None and first is not None and (requests or any(share.wire for share in shares)):
        requests = {preflight: first, **requests}  # the preflight goes first: it decides whether the target can be tested at all
    everything = {**requests, **extra}
    main = Share(version=primary, contract=contract, cases=tuple(mine), requests=everything, wire={sid: sid for sid in everything}, primary=True)
    return (main, *shares), everything
