// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A canned reply chosen from a list fills the answer box, where it can still be edited.
document.addEventListener("change", (event) => {
  const select = event.target;
  const target = select.dataset && select.dataset.fills && document.getElementById(select.dataset.fills);
  if (target) {
    const option = select.options[select.selectedIndex];
    target.value = option.dataset.text || "";
  }
});
