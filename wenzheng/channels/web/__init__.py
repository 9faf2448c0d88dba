"""The citizen's light web page: write in without WeChat, on a weak link, with JavaScript or without."""
