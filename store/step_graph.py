"""A template's step graph, worked out in time linear in its steps and exits.

Steps are joined by their exits (`Next`, a Decision's `TrueNext` and `FalseNext`). One pass of
Tarjan's algorithm finds the strongly connected components: a component of more than one step,
or of one step with an exit to itself, is a loop. The same pass lists the components so that
each comes after every one it leads to, so what each step reaches (a bitset of step positions)
is one OR per exit. Whether a step comes before another on some path is then one bit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property

from store.template_spec import StepSpec, TemplateSpec

Hop = tuple[int, str]  # a step's position, and the exit taken from it


@dataclass(frozen=True)
class StepGraph:
    steps: list[StepSpec]
    position: dict[str, int]  # a step's id -> its position (the first, were ids used twice)
    exits: list[list[Hop]]  # each step's exits to steps there are: (target position, exit)

    @classmethod
    def of(cls, spec: TemplateSpec) -> StepGraph:
        position: dict[str, int] = {}
        for i, step in enumerate(spec.Steps):
            position.setdefault(step.Id, i)
        exits = [[(position[target], name) for name, target in step.exits() if target in position]
                 for step in spec.Steps]
        return cls(list(spec.Steps), position, exits)

    def loops(self) -> list[list[Hop]]:
        """One loop in each group of steps that reach each other: the shortest way from the
        group's first step back to it, as hops (position, exit taken); in template order."""
        found = []
        for component in self._components:
            members = set(component)
            start = min(component)
            if len(component) > 1 or any(target == start for target, _ in self.exits[start]):
                found.append(self._way_back(start, members))
        return sorted(found, key=lambda hops: hops[0][0])

    def reaches(self, source: int, target: int) -> bool:
        """Whether a transaction at `source` can go on to `target` (itself only through a loop)."""
        return bool(self._reached[self._component_of[source]] >> target & 1) and (
            source != target or self._loops_at(source))

    def reached_from(self, source: int) -> list[int]:
        """The positions a transaction at `source` can reach, `source` among them."""
        bits = self._reached[self._component_of[source]]
        return [i for i in range(len(self.steps)) if bits >> i & 1]

    def comes_before(self, earlier: str, step: str) -> bool:
        """Whether step `earlier` is on some path to `step` (and is not `step` itself)."""
        if earlier not in self.position or earlier == step:
            return False
        return self.reaches(self.position[earlier], self.position[step])

    def _loops_at(self, position: int) -> bool:
        component = self._components[self._component_of[position]]
        return len(component) > 1 or any(target == position for target, _ in self.exits[position])

    def _way_back(self, start: int, members: set[int]) -> list[Hop]:
        """A breadth-first search inside one component: linear in its steps and exits."""
        came: dict[int, Hop] = {}
        queue = deque([start])
        while queue:
            step = queue.popleft()
            for target, name in self.exits[step]:
                if target == start:
                    hops = [(step, name)]
                    while step != start:
                        step, name = came[step]
                        hops.append((step, name))
                    return hops[::-1]
                if target in members and target not in came:
                    came[target] = (step, name)
                    queue.append(target)
        raise AssertionError("a component with a loop has a way back")

    @cached_property
    def _components(self) -> list[list[int]]:
        """Tarjan's strongly connected components, iteratively (no recursion, however long the
        chain of steps), each listed after every component it leads to."""
        count = len(self.steps)
        index, low, on_stack = [-1] * count, [0] * count, [False] * count
        stack: list[int] = []
        found: list[list[int]] = []
        counter = 0
        for root in range(count):
            if index[root] != -1:
                continue
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack[root] = True
            work = [(root, iter(self.exits[root]))]
            while work:
                step, targets = work[-1]
                for target, _ in targets:
                    if index[target] == -1:
                        index[target] = low[target] = counter
                        counter += 1
                        stack.append(target)
                        on_stack[target] = True
                        work.append((target, iter(self.exits[target])))
                        break
                    if on_stack[target]:
                        low[step] = min(low[step], index[target])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[step])
                    if low[step] == index[step]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack[member] = False
                            component.append(member)
                            if member == step:
                                break
                        found.append(component)
        return found

    @cached_property
    def _component_of(self) -> list[int]:
        of = [0] * len(self.steps)
        for number, component in enumerate(self._components):
            for member in component:
                of[member] = number
        return of

    @cached_property
    def _reached(self) -> list[int]:
        """For each component, the positions its steps lead to (its own included), as bits."""
        reached = [0] * len(self._components)
        for number, component in enumerate(self._components):  # what it leads to comes first
            bits = 0
            for member in component:
                bits |= 1 << member
                for target, _ in self.exits[member]:
                    bits |= reached[self._component_of[target]]
            reached[number] = bits
        return reached
