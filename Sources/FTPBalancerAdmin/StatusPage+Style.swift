extension StatusPage {
    /// Row colours follow HAProxy's stats page: green up, red down, amber draining, grey
    /// disabled, blue an up backup.
    static let style = #"""
        body { font: 13px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; background: #fafafa; }
        header { display: flex; align-items: baseline; gap: 1.5em; flex-wrap: wrap; }
        h1 { font-size: 1.3em; margin: 0.8em 0 0.4em; }
        h2 { font-size: 1.1em; margin: 1.4em 0 0.2em; }
        #status { padding: 0.2em 0.6em; border-radius: 3px; margin: 0; }
        #status.ok { background: #e6f4e6; }
        #status.waiting { background: #eee; }
        #status.failing { background: #c62828; color: #fff; font-weight: bold; }
        body.stale main, body.stale #totals { opacity: 0.5; }
        .facts { margin: 0.2em 0; color: #555; }
        .facts span + span::before { content: " · "; }
        table { border-collapse: collapse; margin: 0.4em 0; min-width: 60em; }
        th, td { border: 1px solid #bbb; padding: 0.15em 0.6em; text-align: left; white-space: nowrap; }
        th { background: #dde3ea; }
        td.check { max-width: 32em; overflow: hidden; text-overflow: ellipsis; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        tr.up td { background: #c6efc6; }
        tr.up.backup td { background: #c5dcf5; }
        tr.unchecked td { background: #e8f5e8; }
        tr.down td { background: #f4a9a9; }
        tr.draining td { background: #fbe2a0; }
        tr.disabled td { background: #d6d6d6; color: #555; }
        tr.retired td { font-style: italic; }
        .empty { color: #777; font-style: italic; }
        """#
}
