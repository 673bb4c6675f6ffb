# node-gyp entry point for tools that drive node-gyp (electron-rebuild, `npm rebuild` setups that
# call node-gyp). It builds nothing itself: the action runs the same CMake project
# through cmake-js, and the resulting persona_steer.node (with the shared and backend libraries
# beside it) lands in build/Release as node-gyp expects.
{
  "targets": [
    {
      "target_name": "persona_steer",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["build/Release/persona_steer.node"],
          "action": ["node", "scripts/build-native.mjs", "--gyp"]
        }
      ]
    }
  ]
}
