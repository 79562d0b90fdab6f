#!/usr/bin/env python3
"""Counts the read-modify-write instructions of the channel's hot paths.

Disassembles the probe program built from hot_paths.cpp (objdump, AT&T
syntax, x86-64) and, for each rmw_* function, reports
  sites: the RMW instructions reachable from its entry (following jumps and
         calls into the program's own functions, not exception landing pads,
         nor paths that end in a call that never returns),
  path:  the fewest RMW instructions executed on any path from its entry to
         its return that calls rmw_claimed_path() if the function does (the
         probe calls it on the path its claim is about); calls count their
         callee's fewest, and calls to functions that never return, such as
         __cxa_throw, end a path.
An RMW is an instruction with a lock prefix, or xchg with a memory operand
(implicitly locked). An indirect jump is taken for a tail call through a
function pointer (block->deallocate); the probe's functions have no switch
whose jump table it could be. Exits non-zero if a count differs from the claims of
algorithm.md ("Cost"): ready poll 0 RMW (poll layer and co_await), send with
no waker change 1 (send and try_send), sender() 0, registering a waker at
most 2 (poll_recv; poll_closed has a third site, the extension's one-time
installation, exclusive with its withdrawal; re-polling 0).

usage: check_rmw.py OBJDUMP PROGRAM   (OBJDUMP: GNU objdump from binutils)
"""
import heapq
import re
import subprocess
import sys

# function -> (what the claim is, predicate on (sites, path))
CLAIMS = {
    "rmw_sender": ("sender() succeeding: 0 RMW", lambda sites, path: path == 0),
    "rmw_send": ("send with no waker change: 1 RMW", lambda sites, path: path == 1),
    "rmw_poll_ready": ("ready poll_recv: 0 RMW", lambda sites, path: path == 0),
    "rmw_await_ready": ("co_await ready check: 0 RMW", lambda sites, path: path == 0),
    "rmw_poll_recv": ("any poll_recv: at most 2 RMW, re-poll 0",
                      lambda sites, path: path == 0 and sites <= 2),
    "rmw_try_send": ("try_send with no waker change: 1 RMW", lambda sites, path: path == 1),
    # Three sites: the extension's installation, the withdrawal of a waker,
    # the registration. The first two exclude each other (no waker can be
    # registered before the extension exists), so a call makes at most two,
    # which tests/unit/rmw_count_test.cpp counts at run time.
    "rmw_poll_closed": ("any poll_closed: 3 RMW sites (at most 2 per call), re-poll 0",
                        lambda sites, path: path == 0 and sites <= 3),
}
MARKER = "rmw_claimed_path"

NO_RETURN = re.compile(r"throw|_Unwind_Resume|abort|terminate|__stack_chk_fail|^_?exit\b")
PREFIXES = {"lock", "rep", "repz", "repe", "repnz", "repne", "bnd", "notrack", "data16",
            "cs", "ds", "es", "ss", "fs", "gs"}
FUNCTION = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSTRUCTION = re.compile(r"^\s+([0-9a-f]+):\s+(.*)$")
TARGET = re.compile(r"^([0-9a-f]+) <(.+?)(?:[+-]0x[0-9a-f]+)?>$")
INFINITY = float("inf")


class Instruction:
    def __init__(self, address, text):
        self.address = address
        words = text.split(None, 1)
        self.locked = False
        while words and words[0] in PREFIXES:
            self.locked |= words[0] == "lock"
            words = words[1].split(None, 1) if len(words) > 1 else []
        self.mnemonic = words[0] if words else ""
        self.operands = words[1].split("#")[0].strip() if len(words) > 1 else ""
        target = TARGET.match(self.operands)
        self.target = int(target.group(1), 16) if target else None
        self.target_name = target.group(2) if target else None

    def is_rmw(self):
        return self.locked or (self.mnemonic.startswith("xchg") and "(" in self.operands)


def disassemble(objdump, program):
    """Returns ({address: Instruction} in order, {name: entry address})."""
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-w", program],
                             check=True, capture_output=True, text=True).stdout
    instructions, entries, order = {}, {}, []
    for line in listing.splitlines():
        if match := FUNCTION.match(line):
            entries[match.group(2)] = int(match.group(1), 16)
        elif match := INSTRUCTION.match(line):
            instruction = Instruction(int(match.group(1), 16), match.group(2))
            instructions[instruction.address] = instruction
            order.append(instruction.address)
    following = {a: b for a, b in zip(order, order[1:])}
    return instructions, entries, following


class Program:
    def __init__(self, objdump, path):
        self.instructions, self.entries, self.following = disassemble(objdump, path)
        self.cheapest = {}

    def steps(self, address):
        """(cost, next address or None for a return) of each way on from `address`."""
        instruction = self.instructions[address]
        mnemonic, cost = instruction.mnemonic, int(instruction.is_rmw())
        fall_through = self.following.get(address)
        if mnemonic.startswith("ret"):
            return [(cost, None)]
        if mnemonic in ("ud2", "hlt", "int3"):
            return []
        if mnemonic.startswith("call"):
            callee = self.call_cost(instruction)
            return [] if callee == INFINITY else [(cost + callee, fall_through)]
        if mnemonic.startswith("j"):
            if instruction.target is None:  # a tail call through a pointer
                return [(cost, None)]
            if instruction.target_name.endswith("@plt"):  # tail call to a library
                external = self.external_cost(instruction.target_name)
                taken = [] if external == INFINITY else [(cost, None)]
            else:
                taken = [(cost, instruction.target)]
            return taken if mnemonic == "jmp" else taken + [(cost, fall_through)]
        return [(cost, fall_through)]

    @staticmethod
    def external_cost(name):
        return INFINITY if NO_RETURN.search(name) else 0

    def call_cost(self, instruction):
        if instruction.target is None:  # indirect: the waker's callback
            return 0
        if instruction.target_name.endswith("@plt"):
            return self.external_cost(instruction.target_name)
        return self.fewest_rmw(instruction.target)

    def fewest_rmw(self, entry, through_marker=False):
        """Fewest RMW instructions on a path from `entry` to its return (that
        calls the marker, if `through_marker`)."""
        key = (entry, through_marker)
        if key in self.cheapest:
            return self.cheapest[key]
        self.cheapest[key] = INFINITY  # a recursive call never makes a path cheaper
        best, queue, done = INFINITY, [(0, entry, not through_marker)], set()
        while queue:
            cost, address, marked = heapq.heappop(queue)
            if (address, marked) in done:
                continue
            done.add((address, marked))
            marked = marked or self.instructions[address].target_name == MARKER
            for step, successor in self.steps(address):
                if successor is None:
                    if marked:
                        best = min(best, cost + step)
                else:
                    heapq.heappush(queue, (cost + step, successor, marked))
        self.cheapest[key] = best
        return best

    def calls_marker(self, entry):
        marker = self.entries.get(MARKER)
        return any(self.instructions[address].target == marker
                   for address in self.reachable(entry))

    def reachable(self, entry):
        seen, pending = set(), [entry]
        while pending:
            address = pending.pop()
            if address is None or address in seen:
                continue
            seen.add(address)
            pending.extend(successor for _, successor in self.steps(address))
        return seen

    def rmw_sites(self, entry):
        """Addresses of the RMW instructions on paths from `entry` to its
        return: reachable, and not only on the way to a call that never
        returns (a failed assertion, a throw)."""
        sites, seen, pending = set(), set(), [entry]
        while pending:
            address = pending.pop()
            if address is None or address in seen:
                continue
            seen.add(address)
            instruction = self.instructions[address]
            steps = self.steps(address)
            if instruction.is_rmw() and steps:
                sites.add(address)
            if instruction.mnemonic.startswith("call") and steps and instruction.target is not None \
                    and not instruction.target_name.endswith("@plt"):
                pending.append(instruction.target)
            pending.extend(successor for _, successor in steps)
        return sites


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    program = Program(sys.argv[1], sys.argv[2])
    if not any(instruction.is_rmw() for instruction in program.instructions.values()):
        raise SystemExit("no RMW instruction in the whole program: is this GNU objdump output?")
    failures = 0
    print(f"{'function':<18} {'sites':>5} {'path':>5}  claim")
    for name, (claim, holds) in CLAIMS.items():
        if name not in program.entries:
            raise SystemExit(f"{name} not found in {sys.argv[2]}")
        entry = program.entries[name]
        sites = program.rmw_sites(entry)
        path = program.fewest_rmw(entry, through_marker=program.calls_marker(entry))
        ok = holds(len(sites), path)
        failures += not ok
        print(f"{name:<18} {len(sites):>5} {path:>5}  {claim}: {'ok' if ok else 'FAILED'}")
        for address in sorted(sites):
            instruction = program.instructions[address]
            lock = "lock " if instruction.locked else ""
            print(f"{'':<18} {address:#x}: {lock}{instruction.mnemonic} {instruction.operands}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
