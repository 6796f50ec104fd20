// Vite bundles CSS imports into the page's stylesheet; to TypeScript they are side-effect modules.
declare module '*.css' {}
