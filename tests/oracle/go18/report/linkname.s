// Empty: its presence lets report.go declare gcBgMarkStartWorkers without a body.
