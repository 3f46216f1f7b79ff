package ecsdeploy

// Render is render, for the golden test of what a dry run prints.
var Render = render
