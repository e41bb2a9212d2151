"""A stand-in for `adb` in tests: phones are folders. State (a JSON file named by $FAKE_ADB_STATE): {"root":
folder holding one sub-folder per serial, "devices": {serial: state}, "props": {name: value}, "disconnect_after":
calls to a phone before it drops off (optional)}. Paths under /data and /sys in shell commands and pushes map into
the phone's folder; `shell` runs the command with sh there."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def _fail(message: str) -> None:
  sys.stderr.write(message + '\n')
  sys.exit(1)


def main(argv):
  state_path = Path(os.environ['FAKE_ADB_STATE'])
  state = json.loads(state_path.read_text())
  if argv[:1] == ['devices']:
    print('List of devices attached')
    for serial, status in state['devices'].items():
      print(f'{serial}\t{status}')
    return 0
  serial = None
  if argv[:1] == ['-s']:
    serial, argv = argv[1], argv[2:]
  ready = {s: v for s, v in state['devices'].items()}
  if serial is None:
    if not ready:
      _fail('error: no devices/emulators found')
    if len(ready) > 1:
      _fail('error: more than one device/emulator')
    serial = next(iter(ready))
  if serial not in ready:
    _fail(f"error: device '{serial}' not found")
  if ready[serial] == 'unauthorized':
    _fail("error: device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set")
  if 'disconnect_after' in state:
    state['disconnect_after'] -= 1
    if state['disconnect_after'] < 0:
      del state['devices'][serial]
      del state['disconnect_after']
      state_path.write_text(json.dumps(state))
      _fail(f"error: device '{serial}' not found")
    state_path.write_text(json.dumps(state))
  phone = Path(state['root']) / serial
  on_phone = lambda text: re.sub(r'(?<![\w/])/(data|sys|proc_fake)/', lambda m: f'{phone}/{m.group(1)}/', text)
  command, args = argv[0], argv[1:]
  if command == 'push':
    target = Path(on_phone(args[1]))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args[0], target)
    print(f'{args[0]}: 1 file pushed, 0 skipped.')
    return 0
  if command == 'shell':
    line = ' '.join(args)
    props = state.get('props', {})
    line = re.sub(r'getprop ([\w.]+)', lambda m: 'echo ' + json.dumps(props.get(m.group(1), '')), line)
    return subprocess.run(['sh', '-c', on_phone(line)], env={**os.environ, 'FAKE_PHONE': str(phone)}).returncode
  _fail(f'fake adb: unknown command {command}')


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
