#!/usr/bin/python3
"""The baseline of scripts/measure-app: a bare WebKitGTK 4.1 window (1280x800) showing about:blank,
no app around it. Prints "window interactive ms=N" (N = ms since this script started) once the
page has loaded, as the till logs it, then idles until it is stopped."""
import sys
import time

t0 = time.monotonic()
import gi  # noqa: E402

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402

window = Gtk.Window()
window.set_default_size(1280, 800)
view = WebKit2.WebView()


def loaded(_view, event):
    if event == WebKit2.LoadEvent.FINISHED:
        ms = int((time.monotonic() - t0) * 1000)
        print(f"window interactive ms={ms}", file=sys.stderr, flush=True)


view.connect("load-changed", loaded)
window.add(view)
window.connect("destroy", Gtk.main_quit)
window.show_all()
view.load_uri("about:blank")
Gtk.main()
