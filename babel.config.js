// Jest transforms JupyterLab's ES modules in node_modules with Babel.
module.exports = require('@jupyterlab/testing/lib/babel-config');
