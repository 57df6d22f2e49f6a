//! Starts the till's UI: theme from the last choice, the app mounted into #app.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';

export default mount(App, { target: document.getElementById('app')! });
