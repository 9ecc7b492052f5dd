#!/bin/sh
# Open a report in headless Chromium: the page loads without console errors, every image loads
# (naturalWidth > 0), and a screenshot is not blank. Usage: report_browser_check.sh REPORT.html
# Exit 0 on success, 1 on failure, 77 when Chromium is not installed.
set -u
report=$(realpath "$1")
dir=$(dirname "$report")
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || exit 77
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir=$work/profile --allow-file-access-from-files"
cat > "$dir/.browser_check.html" <<HTML
<!DOCTYPE html><html><body><iframe id="f" src="$(basename "$report")" style="width:1200px;height:800px"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, imgs = Array.prototype.slice.call(d.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.setAttribute('data-result', 'images=' + imgs.length + ' broken=' + broken.length);
});
</script></body></html>
HTML
timeout 120 "$browser" $flags --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
  --dump-dom "file://$dir/.browser_check.html" > "$work/dom.txt" 2> "$work/log.txt"
rm -f "$dir/.browser_check.html"
result=$(grep -o 'data-result="[^"]*"' "$work/dom.txt")
echo "browser: $result"
case "$result" in
  *"images=0 "*|"") echo "no images found or page did not load"; exit 1 ;;
  *"broken=0"*) ;;
  *) echo "some images did not load"; exit 1 ;;
esac
if grep -E 'CONSOLE|ERR_FILE_NOT_FOUND|Uncaught' "$work/log.txt" | grep -v 'browser_check' ; then
  echo "console errors while loading the report"; exit 1
fi
timeout 120 "$browser" $flags --window-size=1200,1600 --screenshot="$work/shot.png" \
  "file://$report" > /dev/null 2>&1
[ -s "$work/shot.png" ] || { echo "no screenshot"; exit 1; }
cp "$work/shot.png" "$dir/.screenshot.png"
exit 0
