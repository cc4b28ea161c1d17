namespace Alex.Web.Tests;

/// <summary>
/// The tests that start chromium or `alex` processes run one after another: on a 2-core CI machine,
/// several browsers and servers at once starve each other past the timeouts under test.
/// </summary>
[CollectionDefinition("browser and child processes")]
public sealed class BrowserCollection;
