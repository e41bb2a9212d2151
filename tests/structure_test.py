"""The house rules, checked on the source: no space named outside eagle_jax/spaces (what differs between spaces is
a method or attribute of Space), and no import circles between eagle_jax's modules."""
import ast
from pathlib import Path

from eagle_jax import spaces

PACKAGE = Path(__file__).resolve().parents[1] / 'eagle_jax'


def _modules() -> dict:
  found = {}
  for path in PACKAGE.rglob('*.py'):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    found['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
  return found


def test_no_space_is_named_outside_the_spaces_package():
  named = []
  for path in _modules().values():
    if (PACKAGE / 'spaces') in path.parents:
      continue
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Constant) and node.value in spaces.BUILT_IN:
        named.append(f'{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value!r}')
  assert not named, named


def test_no_import_circles():
  modules = _modules()
  graph = {}
  for name, path in modules.items():
    deps = set()
    for node in ast.walk(ast.parse(path.read_text())):  # imports inside functions count too
      if isinstance(node, ast.Import):
        deps.update(a.name for a in node.names)
      elif isinstance(node, ast.ImportFrom) and node.module:
        deps.update(f'{node.module}.{a.name}' if f'{node.module}.{a.name}' in modules else node.module
                    for a in node.names)
    graph[name] = {d for d in deps if d in modules and d != name}
  state, circles = {}, []

  def visit(module, path):
    state[module] = 'open'
    for dep in sorted(graph[module]):
      if state.get(dep) == 'open':
        circles.append(path[path.index(dep):] + [dep])
      elif dep not in state:
        visit(dep, path + [dep])
    state[module] = 'done'

  for module in sorted(graph):
    if module not in state:
      visit(module, [module])
  assert not circles, circles
