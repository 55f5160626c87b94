// Placeholder so a component with no sources yet still forms an object library.
